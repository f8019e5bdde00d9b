package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.lock.QueueRule;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Who holds and who waits under a lock name, worked out from the keys alone, as the recipes decide it: keys ordered
 * by create revision, each blocked by the earlier keys its {@link QueueRule} names. Pure: no I/O.
 *
 * <p>The layout is guessed from the keys, since etcd stores nothing else:
 * <ul>
 *   <li>keys under {@code <name>/read/} or {@code <name>/write/}: our read-write lock; readers share, a writer is
 *       exclusive, a reader waits only for earlier keys that are not readers';
 *   <li>every key holding the same small number N &gt; 1 (at most {@link #MAX_PERMITS}): our semaphore of N permits;
 *   <li>anything else: a mutex or an election ({@code <name>/<lease hex>}: ours, Go's {@code concurrency.Mutex} and
 *       {@code Election}, {@code etcdctl lock}), the key with the lowest create revision holding.
 * </ul>
 */
record QueueView(String name, Layout layout, int permits, List<Entry> entries) {
    /**
     * Largest value read as a semaphore's permit count. Our mutex's values are random 64-bit hex nonces, nearly
     * always far above this; a lone key mistaken for a semaphore would hold either way.
     */
    static final int MAX_PERMITS = 100_000;

    enum Layout {
        MUTEX("mutex/election"), SEMAPHORE("semaphore"), READ_WRITE("read-write lock");

        final String label;

        Layout(String label) {
            this.label = label;
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

    static QueueView of(String name, List<KeyValue> keys) {
        List<KeyValue> queue = new ArrayList<>(keys);
        queue.sort(Comparator.comparingLong(KeyValue::getCreateRevision));
        Layout layout = layoutOf(name, queue);
        int permits = layout == Layout.SEMAPHORE ? Integer.parseInt(queue.get(0).getValue().toStringUtf8()) : 1;
        ByteString readers = readers(name);
        List<Entry> entries = new ArrayList<>(queue.size());
        int waiting = 0;
        for (KeyValue kv : queue) {
            QueueRule rule = ruleFor(layout, permits, readers, kv.getKey());
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
        return new QueueView(name, layout, permits, List.copyOf(entries));
    }

    /** The rule a key of this layout waits by: the recipes' own. */
    static QueueRule ruleFor(Layout layout, int permits, ByteString readers, ByteString key) {
        return switch (layout) {
            case SEMAPHORE -> QueueRule.permits(permits);
            case READ_WRITE -> key.startsWith(readers) ? QueueRule.sharedWith(readers) : QueueRule.exclusive();
            case MUTEX -> QueueRule.exclusive();
        };
    }

    static ByteString readers(String name) {
        return ByteString.copyFromUtf8(name + "/read/");
    }

    private static Layout layoutOf(String name, List<KeyValue> queue) {
        String read = name + "/read/";
        String write = name + "/write/";
        String value = null;
        boolean sameValue = true;
        for (KeyValue kv : queue) {
            String key = kv.getKey().toStringUtf8();
            if (key.startsWith(read) || key.startsWith(write)) {
                return Layout.READ_WRITE;
            }
            String v = kv.getValue().toStringUtf8();
            sameValue &= value == null || value.equals(v);
            value = v;
        }
        if (value != null && sameValue && value.matches("[1-9][0-9]{0,5}")
                && Integer.parseInt(value) > 1 && Integer.parseInt(value) <= MAX_PERMITS) {
            return Layout.SEMAPHORE;
        }
        return Layout.MUTEX;
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
