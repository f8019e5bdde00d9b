package dev.etcdlock;

/**
 * etcd could not be reached or could not serve the request in time: every endpoint down or unreachable, no leader,
 * or the request deadline passed.
 *
 * <p>Reads and keep-alives have already been retried on other members before this is thrown. A write is never
 * re-sent when its outcome is unknown, because etcd may have applied it: {@link #isOutcomeUnknown()} tells whether
 * the failed request may nevertheless have taken effect.
 */
public class EtcdUnavailableException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    private final boolean outcomeUnknown;

    public EtcdUnavailableException(String message, boolean outcomeUnknown, Throwable cause) {
        super(message, cause);
        this.outcomeUnknown = outcomeUnknown;
    }

    /** True when the request was a write that etcd may have applied although no answer arrived. */
    public boolean isOutcomeUnknown() {
        return outcomeUnknown;
    }
}
