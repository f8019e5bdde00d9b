package dev.etcdlock.internal.events;

/** Why a hold ended without its owner's unlock. */
public enum LossReason {
    /** The session's lease expired or was revoked by someone else; etcd deleted its keys. */
    LEASE_LOST,
    /** The key was found deleted while the lease lived (deleted by someone else, or found gone at unlock). */
    KEY_DELETED,
    /** The session or its client was closed while holding: the revocation released the lock. */
    SESSION_CLOSED,
    /**
     * The unlock's delete got no answer (etcd unreachable): the handle is released, and the key went with that delete
     * if etcd applied it, or goes with the session's lease.
     */
    UNLOCK_UNANSWERED
}
