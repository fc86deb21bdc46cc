/**
 * The tenant round-robin both drivers share: given the tenants with work waiting, the one after the last served
 * (in name order, wrapping). Names, not arrival order, so that a tenant with a backlog cannot move itself ahead.
 */
export class TenantRoundRobin {
  private last: string | null = null;

  /** The tenants in the order this slot should try them: the next after the last served first. */
  order(tenants: Iterable<string>): string[] {
    const sorted = [...new Set(tenants)].sort();
    if (this.last === null) return sorted;
    const at = sorted.findIndex((t) => t > this.last!);
    return at <= 0 ? sorted : [...sorted.slice(at), ...sorted.slice(0, at)];
  }

  served(tenant: string): void {
    this.last = tenant;
  }
}
