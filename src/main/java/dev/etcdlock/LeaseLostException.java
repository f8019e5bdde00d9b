package dev.etcdlock;

/**
 * The lease behind a session is gone, so every lock held through it may already belong to someone else: etcd
 * expired it, somebody revoked it, or etcd stayed unreachable until the lease could no longer be proven valid.
 *
 * <p>Stop the work the lock protected; to go on, open a new session and acquire again. See
 * <a href="package-summary.html#lease-lost">what "lease lost" means</a>.
 */
public class LeaseLostException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /** See {@link #leaseId()}. */
    private final long leaseId;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param leaseId the etcd lease id that was lost
     * @param message why, and what to do
     */
    public LeaseLostException(long leaseId, String message) {
        super(message);
        this.leaseId = leaseId;
    }

    /**
     * The etcd lease id that was lost.
     *
     * @return the lease id, as {@link Session#leaseId()} returned it
     */
    public long leaseId() {
        return leaseId;
    }
}
