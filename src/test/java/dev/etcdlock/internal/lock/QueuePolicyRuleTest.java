package dev.etcdlock.internal.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The recipes' rules over a queue, without etcd: who holds, given the keys and their create revisions. */
class QueuePolicyRuleTest {
    private static final ByteString READ = ByteString.copyFromUtf8("/rw/read/");

    private static KeyValue kv(String key, long createRevision) {
        return KeyValue.newBuilder().setKey(ByteString.copyFromUtf8(key)).setCreateRevision(createRevision).build();
    }

    private static Set<ByteString> keys(String... keys) {
        Set<ByteString> set = new java.util.HashSet<>();
        for (String k : keys) {
            set.add(ByteString.copyFromUtf8(k));
        }
        return set;
    }

    @Test
    void exclusiveWaitsForEveryEarlierKeyAndHoldsWithNoneLeft() {
        QueuePolicy.Rule rule = QueuePolicy.Rule.exclusive();
        List<KeyValue> queue = List.of(kv("/m/a", 10), kv("/m/b", 11), kv("/m/c", 12), kv("/m/d", 13));
        assertEquals(keys("/m/a", "/m/b"), rule.blockersAhead(queue, 12), "only earlier keys, all of them");
        assertEquals(Set.of(), rule.blockersAhead(queue, 10));
        assertTrue(rule.holds(0));
        assertFalse(rule.holds(1));
        assertTrue(rule.everyKeyBlocks());
        assertEquals(rule, QueuePolicy.Rule.permits(1), "one permit is a mutex");
    }

    @Test
    void permitsHoldWhileFewerThanNEarlierKeysAreLeft() {
        QueuePolicy.Rule rule = QueuePolicy.Rule.permits(3);
        assertTrue(rule.holds(0) && rule.holds(1) && rule.holds(2));
        assertFalse(rule.holds(3));
        assertTrue(rule.everyKeyBlocks());
        assertThrows(IllegalArgumentException.class, () -> QueuePolicy.Rule.permits(0));
    }

    @Test
    void readersWaitOnlyForEarlierKeysThatAreNotReaders() {
        QueuePolicy.Rule reader = QueuePolicy.Rule.sharedWith(READ);
        List<KeyValue> queue = List.of(kv("/rw/read/1", 5), kv("/rw/write/2", 6), kv("/rw/read/3", 7),
                kv("/rw/4", 8), kv("/rw/read/5", 9), kv("/rw/write/6", 10));
        assertEquals(Set.of(), reader.blockersAhead(queue, 5));
        assertEquals(keys("/rw/write/2"), reader.blockersAhead(queue, 7));
        assertEquals(keys("/rw/write/2", "/rw/4"), reader.blockersAhead(queue, 9),
                "a key of another kind (a Go Mutex on the same name) blocks readers as a writer does");
        assertFalse(reader.everyKeyBlocks());
    }

    /** Random queues of readers and writers: the rules keep writers alone, readers together, and FIFO order. */
    @Test
    void readersAndWritersNeverHoldTogetherAndNobodyOvertakesAnEarlierWaiter() {
        QueuePolicy.Rule reader = QueuePolicy.Rule.sharedWith(READ);
        QueuePolicy.Rule writer = QueuePolicy.Rule.exclusive();
        Random random = new Random(42);
        for (int round = 0; round < 2_000; round++) {
            List<KeyValue> queue = new ArrayList<>();
            List<Boolean> isWriter = new ArrayList<>();
            int n = 1 + random.nextInt(12);
            for (int i = 0; i < n; i++) {
                boolean w = random.nextInt(3) == 0;
                queue.add(kv((w ? "/rw/write/" : "/rw/read/") + i, 100 + i));
                isWriter.add(w);
            }
            List<Integer> holders = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                QueuePolicy.Rule rule = isWriter.get(i) ? writer : reader;
                if (rule.holds(rule.blockersAhead(queue, 100 + i).size())) {
                    holders.add(i);
                }
            }
            // the holders are exactly the queue's head: a writer alone, or the readers before the first writer
            int expected = isWriter.get(0) ? 1 : (int) isWriter.stream().takeWhile(w -> !w).count();
            assertEquals(expected, holders.size(), "queue " + isWriter);
            for (int i = 0; i < holders.size(); i++) {
                assertEquals(i, holders.get(i), "holders are the first keys, in order: " + isWriter);
            }
        }
    }

    @Test
    void semaphoreHoldersAreTheFirstNKeys() {
        QueuePolicy.Rule rule = QueuePolicy.Rule.permits(3);
        List<KeyValue> queue = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            queue.add(kv("/s/" + i, 20 + i));
        }
        List<Integer> holders = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            if (rule.holds(rule.blockersAhead(queue, 20 + i).size())) {
                holders.add(i);
            }
        }
        assertEquals(List.of(0, 1, 2), holders);
    }

    @Test
    void aPolicyKeepsItsWaiterKeysInItsQueue() {
        ByteString queue = ByteString.copyFromUtf8("/rw/");
        assertThrows(IllegalArgumentException.class, () -> new QueuePolicy(queue,
                ByteString.copyFromUtf8("/other/"), QueuePolicy.Rule.exclusive(), QueuePolicy.Value.nonce()));
        QueuePolicy mutex = QueuePolicy.mutex(queue);
        assertTrue(mutex.nonceValue());
        assertEquals(queue, mutex.keyPrefix());
    }
}
