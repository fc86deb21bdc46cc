/** The settle-once latch of a held job (both queues): ack, release and abandon settle it; only the first counts. */
export interface SettleOnce {
  /** Settles (running `onSettle`) unless already settled; true when this call settled it. */
  settle: () => boolean;
  isSettled: () => boolean;
}

export function settleOnce(onSettle: () => void): SettleOnce {
  let settled = false;
  return {
    settle: () => {
      if (settled) return false;
      settled = true;
      onSettle();
      return true;
    },
    isSettled: () => settled,
  };
}
