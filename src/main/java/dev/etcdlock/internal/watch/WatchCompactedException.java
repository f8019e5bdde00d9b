package dev.etcdlock.internal.watch;

import dev.etcdlock.EtcdLockException;

/**
 * The events a subscriber asked for are gone: etcd compacted its history past them. The subscriber must re-read
 * the current state and subscribe again after that read's revision.
 */
public final class WatchCompactedException extends EtcdLockException {
    private static final long serialVersionUID = 1L;

    private final long compactRevision;

    public WatchCompactedException(long compactRevision, long wantedRevision) {
        super("etcd compacted its history through revision " + compactRevision + " while events from revision "
                + wantedRevision + " were still wanted; re-read and watch again");
        this.compactRevision = compactRevision;
    }

    /** Events from this revision on are still available. */
    public long compactRevision() {
        return compactRevision;
    }
}
