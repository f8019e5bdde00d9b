package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Who holds and who waits under a lock name, worked out from the keys alone, as the recipes decide it: keys ordered
 * by create revision, each blocked by the earlier keys its {@link QueuePolicy.Rule} names. Pure: no I/O.
 *
 * <p>The layout is what the user {@linkplain Told told} ({@code --layout}, {@code --permits}), else read from the
 * keys only where they leave no doubt:
 * <ul>
 *   <li>keys under {@code <name>/read/} or {@code <name>/write/}: our read-write lock; readers share, a writer is
 *       exclusive, a reader waits only for earlier keys that are not readers';
 *   <li>anything else: a mutex or an election ({@code <name>/<lease hex>}: ours, Go's {@code concurrency.Mutex} and
 *       {@code Election}, {@code etcdctl lock}), the key with the lowest create revision holding.
 * </ul>
 * Our semaphore's keys look like an election's ({@code <name>/<lease hex>}) and hold its permit count, but election
 * candidates may hold any value, the same number too (two proclaiming port "8080"), so a semaphore is never guessed:
 * {@code --permits N} (or {@code --layout semaphore}) says it. When all keys hold the same number the header hints
 * at that.
 */
record QueueView(String name, Layout layout, int permits, String decidedBy, List<Entry> entries) {
    /** Largest permit count taken from {@code --permits} or read from a semaphore's keys. */
    static final int MAX_PERMITS = 100_000;

    /**
     * What the user said of the layout: {@code layout} null when {@code --layout} was not given, {@code permits} 0
     * when {@code --permits} was not.
     */
    record Told(Layout layout, int permits) {
        static final Told NOTHING = new Told(null, 0);
    }

    enum Layout {
        MUTEX("mutex/election", "mutex"),
        SEMAPHORE("semaphore", "semaphore"),
        READ_WRITE("read-write lock", "rwlock");

        final String label;
        /** As {@code --layout} names it. */
        final String option;

        Layout(String label, String option) {
            this.label = label;
            this.option = option;
        }
    }

    /**
     * One key of the queue.
     *
     * @param position    0 for a holder; for a waiter its place in line, 1 being next
     * @param blockers    the earlier keys that keep a waiter waiting (empty for a holder)
     * @param waitsFor    what a waiter waits for, in words: the key it waits on to go, as Go's waiters do
     */
    record Entry(KeyValue kv, boolean holder, int position, List<ByteString> blockers, String waitsFor) {
        String key() {
            return kv.getKey().toStringUtf8();
        }

        /** The fencing token our locks hand out: the key's create revision. */
        long token() {
            return kv.getCreateRevision();
        }

        /** As etcdctl prints lease ids. */
        String leaseHex() {
            return Long.toHexString(kv.getLease());
        }

        boolean reader(String name) {
            return key().startsWith(name + "/read/");
        }

        /** Which hold (or wait) this is: the same session locking again keeps its key but gets a new token. */
        Hold hold() {
            return new Hold(kv.getKey(), kv.getCreateRevision());
        }
    }

    /** A key's identity across reads: its name and create revision (a key made again is another holder). */
    record Hold(ByteString key, long createRevision) {
    }

    /** As {@link #of(String, List, Told)} when the user said nothing of the layout. */
    static QueueView of(String name, List<KeyValue> keys) {
        return of(name, keys, Told.NOTHING);
    }

    /**
     * @throws IllegalArgumentException (exit 2) when told {@code --layout semaphore} without {@code --permits} and
     *                                  the keys do not all hold the same permit count
     */
    static QueueView of(String name, List<KeyValue> keys, Told told) {
        List<KeyValue> queue = new ArrayList<>(keys);
        queue.sort(Comparator.comparingLong(KeyValue::getCreateRevision));
        int sameNumber = sameNumber(queue);
        Layout layout;
        int permits = 1;
        String decidedBy;
        if (told.layout() == Layout.SEMAPHORE || told.layout() == null && told.permits() > 0) {
            layout = Layout.SEMAPHORE;
            if (told.permits() > 0) {
                permits = told.permits();
                decidedBy = "from --permits " + permits;
            } else if (sameNumber > 0 || queue.isEmpty()) {
                permits = Math.max(sameNumber, 1);
                decidedBy = "from --layout semaphore, " + permits + " permits read from the keys";
            } else {
                throw new IllegalArgumentException("--layout semaphore: the keys under " + name + "/ do not all "
                        + "hold the same permit count, as our Semaphore's do; give the count with --permits N");
            }
        } else if (told.layout() != null) {
            layout = told.layout();
            decidedBy = "from --layout " + layout.option;
        } else if (readWriteKeys(name, queue)) {
            layout = Layout.READ_WRITE;
            decidedBy = "seen from its /read/ and /write/ keys";
        } else {
            layout = Layout.MUTEX;
            decidedBy = sameNumber > 1
                    ? "by default: all its keys hold " + sameNumber + "; if it is a semaphore, give --permits "
                            + sameNumber
                    : "by default: give --permits N for a semaphore";
        }
        ByteString readers = readers(name);
        List<Entry> entries = new ArrayList<>(queue.size());
        int waiting = 0;
        for (KeyValue kv : queue) {
            QueuePolicy.Rule rule = ruleFor(layout, permits, readers, kv.getKey());
            Set<ByteString> ahead = rule.blockersAhead(queue, kv.getCreateRevision());
            if (rule.holds(ahead.size())) {
                entries.add(new Entry(kv, true, 0, List.of(), ""));
                continue;
            }
            List<ByteString> blockers = new ArrayList<>();
            KeyValue last = null;
            for (KeyValue earlier : queue) {
                if (ahead.contains(earlier.getKey())) {
                    blockers.add(earlier.getKey());
                    last = earlier;
                }
            }
            String waitsFor = layout == Layout.SEMAPHORE
                    ? (ahead.size() - permits + 1) + " of the " + ahead.size() + " keys ahead to go"
                    : last.getKey().toStringUtf8();
            entries.add(new Entry(kv, false, ++waiting, List.copyOf(blockers), waitsFor));
        }
        return new QueueView(name, layout, permits, decidedBy, List.copyOf(entries));
    }

    /** The rule a key of this layout waits by: the recipes' own. */
    static QueuePolicy.Rule ruleFor(Layout layout, int permits, ByteString readers, ByteString key) {
        return switch (layout) {
            case SEMAPHORE -> QueuePolicy.Rule.permits(permits);
            case READ_WRITE -> key.startsWith(readers) ? QueuePolicy.Rule.sharedWith(readers)
                    : QueuePolicy.Rule.exclusive();
            case MUTEX -> QueuePolicy.Rule.exclusive();
        };
    }

    static ByteString readers(String name) {
        return ByteString.copyFromUtf8(name + "/read/");
    }

    private static boolean readWriteKeys(String name, List<KeyValue> queue) {
        ByteString read = ByteString.copyFromUtf8(name + "/read/");
        ByteString write = ByteString.copyFromUtf8(name + "/write/");
        return queue.stream().anyMatch(kv -> kv.getKey().startsWith(read) || kv.getKey().startsWith(write));
    }

    /** The number all keys hold, as our Semaphore writes its permit count; 0 when they do not, or hold none. */
    private static int sameNumber(List<KeyValue> queue) {
        String value = queue.isEmpty() ? null : queue.get(0).getValue().toStringUtf8();
        if (value == null || !value.matches("[1-9][0-9]{0,5}") || Integer.parseInt(value) > MAX_PERMITS) {
            return 0;
        }
        return queue.stream().allMatch(kv -> kv.getValue().toStringUtf8().equals(value)) ? Integer.parseInt(value) : 0;
    }

    List<Entry> holders() {
        return entries.stream().filter(Entry::holder).toList();
    }

    List<Entry> waiters() {
        return entries.stream().filter(e -> !e.holder()).toList();
    }

    boolean free() {
        return entries.isEmpty();
    }

    /** What the layout means for the reader of the output. */
    String layoutLabel() {
        return layout == Layout.SEMAPHORE ? "semaphore, " + permits + " permits" : layout.label;
    }
}
