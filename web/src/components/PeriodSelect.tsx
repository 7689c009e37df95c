/** The periods reports offer, in days back from today. */
const PERIODS = [30, 90, 180, 365];

/** "Last N days": the reports' period, its value kept by the page (in the URL). */
export function PeriodSelect({ days, onChange }: { days: number; onChange: (days: string) => void }) {
  return (
    <label>
      Period{" "}
      <select value={days} onChange={(e) => onChange(e.target.value)}>
        {PERIODS.map((d) => (
          <option key={d} value={d}>
            last {d} days
          </option>
        ))}
      </select>
    </label>
  );
}
