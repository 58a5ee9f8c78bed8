// A task that re-reads something (a table, a list) on request: at most one run at a time, and requests made while
// it runs fold into one more run after it, so a burst of notifications costs two reads, not one each.

export class CoalescedTask {
  private running?: Promise<void>;
  private again = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Runs the task now, or once more after the run in flight. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task()
      .catch(this.onError)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  /** Resolves once no run is in flight or asked for. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
