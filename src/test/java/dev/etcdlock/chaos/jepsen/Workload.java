package dev.etcdlock.chaos.jepsen;

import java.util.Locale;

/**
 * What one thread of every worker loops on, each on a name of its own: the guarded counter under the mutex (the
 * safety check proper), a permit of a two-permit semaphore, or a term of an election. All three run on one queue
 * engine, but their keys' values, their hand-over and their release differ, so each gets its faults.
 */
enum Workload {
    MUTEX("/jepsen/lock", 1), SEMAPHORE("/jepsen/semaphore", 2), ELECTION("/jepsen/election", 1);

    /** The lock's name: every key of this workload is under {@code prefix + "/"}. */
    final String prefix;
    /** How many may hold at once. */
    final int holders;

    Workload(String prefix, int holders) {
        this.prefix = prefix;
        this.holders = holders;
    }

    String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Workload ofTag(String tag) {
        return valueOf(tag.toUpperCase(Locale.ROOT));
    }

    /** The workload a key belongs to, or null for a key under none of them. */
    static Workload ofKey(String key) {
        for (Workload w : values()) {
            if (key.startsWith(w.prefix + "/")) {
                return w;
            }
        }
        return null;
    }
}
