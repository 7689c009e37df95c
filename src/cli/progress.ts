import { SingleBar } from "cli-progress";

/** A progress bar on stderr (drawn only on a terminal, so scripts and logs stay clean). */
export function progressBar(label: string, total: number): SingleBar {
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0);
  return bar;
}
