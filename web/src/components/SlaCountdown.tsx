import { useEffect, useState } from "react";
import { duration } from "../format";

/** Time left until an SLA is due (or how long ago it was), ticking each second. */
export function SlaCountdown({ dueAt }: { dueAt: string | null }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  if (!dueAt) return <span>no SLA</span>;
  const left = Date.parse(dueAt) - now;
  return left >= 0 ? (
    <span className="sla ok">due in {duration(left)}</span>
  ) : (
    <span className="sla late">overdue by {duration(-left)}</span>
  );
}
