package dev.etcdlock;

/**
 * An unlock, a resign or a proclaim found the lock or the term no longer ours: released already (a second call), or
 * released by the close of its session or client, or lost with the session's lease or its key and possibly taken by
 * someone else; {@link #reason()} tells which. Nothing of anybody else's was deleted or written. A write guarded by
 * {@link Txn#ifHeld(LockHandle)} reports the same case by returning false.
 */
public class LockNotHeldException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    /** Why it is not held: branch on this, not on the message. */
    public enum Reason {
        /** Released through this handle before: a second unlock or resign. */
        RELEASED,
        /** Released when the application closed its session or client: no news, nobody else is told anything. */
        CLOSED,
        /**
         * Lost: the session's lease expired or was revoked, or the key was deleted, or the lease is not certainly
         * valid any more; someone else may have held it since.
         */
        LOST
    }

    /** Why it is not held. */
    private final Reason reason;

    /**
     * Creates the exception; etcd-lock throws it, applications need not.
     *
     * @param reason why it is not held
     * @param message which lock, and how it was found
     */
    public LockNotHeldException(Reason reason, String message) {
        super(message);
        this.reason = java.util.Objects.requireNonNull(reason, "reason");
    }

    /**
     * Creates the exception for a lost lock ({@link Reason#LOST}).
     *
     * @param message which lock, and how it was found
     */
    public LockNotHeldException(String message) {
        this(Reason.LOST, message);
    }

    /**
     * Why it is not held.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }
}
