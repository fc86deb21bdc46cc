/** A background pass on a timer (the sweeps, the thread expiry): never two at once; stopping waits for the one under way. */
export class PeriodicPass {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;

  constructor(
    private readonly pass: () => Promise<unknown>,
    /** Told of a failed pass, with how many passes in a row failed (1: the first since a success). */
    private readonly onFailure: (err: unknown, inARow: number) => void,
  ) {}

  /** Runs the pass every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.pass()
      .then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => this.onFailure(err, ++this.failures),
      )
      .finally(() => {
        this.running = null;
      });
  }
}
