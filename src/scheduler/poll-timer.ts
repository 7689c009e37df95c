/**
 * How a polling loop sleeps: `sleep(ms)` waits that long, or until `wake()` is called. `woken`
 * says whether `wake()` came since the loop last cleared it (while it was busy, say).
 */
export class PollTimer {
  woken = false;
  private cut: (() => void) | null = null;

  wake(): void {
    this.woken = true;
    this.cut?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.cut = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.cut = done;
    });
  }
}
