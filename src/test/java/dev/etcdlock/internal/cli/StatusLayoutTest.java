package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which layout {@code status} reads a queue with, and what it says about how it chose. Pure, no etcd. */
class StatusLayoutTest {
    private static KeyValue kv(String key, long create, String value) {
        return KeyValue.newBuilder().setKey(ByteString.copyFromUtf8(key)).setCreateRevision(create)
                .setModRevision(create).setLease(create).setValue(ByteString.copyFromUtf8(value)).build();
    }

    /** Two Go/etcdctl election candidates proclaiming the same port: only the first leads. */
    @Test
    void electionCandidatesWithTheSameNumericValueAreNotASemaphore() {
        QueueView view = QueueView.of("/e", List.of(kv("/e/694d7c1b2e3f4a01", 10, "8080"),
                kv("/e/694d7c1b2e3f4a02", 11, "8080")));
        assertEquals(QueueView.Layout.MUTEX, view.layout());
        assertEquals(List.of("/e/694d7c1b2e3f4a01"), view.holders().stream().map(QueueView.Entry::key).toList());
        assertEquals("by default: all its keys hold 8080; if it is a semaphore, give --permits 8080",
                view.decidedBy());
    }

    /** Our Semaphore's keys hold its permit count; told so, the first N keys hold. */
    @Test
    void withPermitsOurSemaphoresFirstNKeysHold() {
        List<KeyValue> keys = List.of(kv("/s/1", 10, "2"), kv("/s/2", 11, "2"), kv("/s/3", 12, "2"));
        QueueView view = QueueView.of("/s", keys, new QueueView.Told(null, 2));
        assertEquals(QueueView.Layout.SEMAPHORE, view.layout());
        assertEquals(2, view.holders().size());
        assertEquals("1 of the 2 keys ahead to go", view.waiters().get(0).waitsFor());
        assertEquals("from --permits 2", view.decidedBy());

        QueueView untold = QueueView.of("/s", keys);
        assertEquals(1, untold.holders().size(), "not told: read as a mutex");
        assertTrue(untold.decidedBy().contains("give --permits 2"), untold.decidedBy());
    }

    @Test
    void layoutSemaphoreReadsThePermitCountFromTheKeys() {
        List<KeyValue> keys = List.of(kv("/s/1", 10, "3"), kv("/s/2", 11, "3"), kv("/s/3", 12, "3"),
                kv("/s/4", 13, "3"));
        QueueView view = QueueView.of("/s", keys, new QueueView.Told(QueueView.Layout.SEMAPHORE, 0));
        assertEquals(3, view.permits());
        assertEquals(3, view.holders().size());
        assertEquals("from --layout semaphore, 3 permits read from the keys", view.decidedBy());
    }

    @Test
    void layoutSemaphoreWithoutACountInTheKeysAsksForPermits() {
        List<KeyValue> keys = List.of(kv("/s/1", 10, "a1b2"), kv("/s/2", 11, "c3d4"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QueueView.of("/s", keys, new QueueView.Told(QueueView.Layout.SEMAPHORE, 0)));
        assertTrue(e.getMessage().contains("give the count with --permits N"), e.getMessage());
    }

    @Test
    void readAndWriteKeysAreAReadWriteLockWithoutBeingTold() {
        QueueView view = QueueView.of("/rw", List.of(kv("/rw/read/1", 10, ""), kv("/rw/read/2", 11, ""),
                kv("/rw/write/3", 12, "")));
        assertEquals(QueueView.Layout.READ_WRITE, view.layout());
        assertEquals(2, view.holders().size());
        assertEquals("seen from its /read/ and /write/ keys", view.decidedBy());
    }

    @Test
    void layoutMutexOverridesWhatTheKeysSuggest() {
        QueueView view = QueueView.of("/rw", List.of(kv("/rw/read/1", 10, ""), kv("/rw/read/2", 11, "")),
                new QueueView.Told(QueueView.Layout.MUTEX, 0));
        assertEquals(1, view.holders().size());
        assertEquals("from --layout mutex", view.decidedBy());
    }
}
