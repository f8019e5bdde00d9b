package dev.etcdlock;

/**
 * The lease behind a session is gone, so every lock held through it may already belong to someone else: etcd
 * expired it, somebody revoked it, or etcd stayed unreachable until the lease could no longer be proven valid.
 *
 * <p>Stop the work the lock protected; to go on, open a new session and acquire again.
 */
public class LeaseLostException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    private final long leaseId;

    public LeaseLostException(long leaseId, String message) {
        super(message);
        this.leaseId = leaseId;
    }

    /** The etcd lease id that was lost. */
    public long leaseId() {
        return leaseId;
    }
}
