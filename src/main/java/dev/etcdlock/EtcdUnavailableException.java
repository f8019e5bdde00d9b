package dev.etcdlock;

/**
 * etcd could not be reached or could not serve the request in time: every endpoint down or unreachable, no leader,
 * or the request deadline passed.
 *
 * <p>Reads, keep-alives, and the lock's own requests that are safe to repeat (enqueue, guarded unlock, revoke) have
 * already been retried on other members, within the client's request timeout, before this is thrown. A write is never
 * re-sent when its outcome is unknown, because etcd may have applied it: {@link #isOutcomeUnknown()} tells whether
 * the failed request may nevertheless have taken effect.
 */
public class EtcdUnavailableException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /** See {@link #isOutcomeUnknown()}. */
    private final boolean outcomeUnknown;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param message what failed and what to check
     * @param outcomeUnknown whether the failed request was a write that etcd may have applied
     * @param cause the transport or gRPC error, or null
     */
    public EtcdUnavailableException(String message, boolean outcomeUnknown, Throwable cause) {
        super(message, cause);
        this.outcomeUnknown = outcomeUnknown;
    }

    /**
     * Whether the failed request may nevertheless have taken effect.
     *
     * @return true when the request was a write that etcd may have applied although no answer arrived; false when it
     *     was a read, or etcd certainly did not execute it (no leader)
     */
    public boolean isOutcomeUnknown() {
        return outcomeUnknown;
    }
}
