package dev.etcdlock.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link StatusFormat#change}: what {@code status --watch} reports between two reads. Pure, no etcd. */
class StatusChangeTest {
    private static KeyValue kv(String key, long create, String value) {
        return KeyValue.newBuilder().setKey(ByteString.copyFromUtf8(key)).setCreateRevision(create)
                .setModRevision(create).setLease(0x1234).setValue(ByteString.copyFromUtf8(value)).build();
    }

    /** The same session unlocks and locks again between two reads: same key name, new create revision (token). */
    @Test
    void aHolderThatLocksAgainUnderTheSameKeyIsANewHold() {
        String key = "/l/694d7c1b2e3f4a01";
        QueueView before = QueueView.of("/l", List.of(kv(key, 10, "a1b2c3d4e5f60718")));
        QueueView after = QueueView.of("/l", List.of(kv(key, 20, "0f1e2d3c4b5a6978")));
        String change = StatusFormat.change(before, after,
                Map.of(new QueueView.Hold(ByteString.copyFromUtf8(key), 10), "3.2 s"));
        assertEquals("holder " + key + " left after holding 3.2 s; " + key + " holds (token 20)", change);
    }

    @Test
    void theSameHoldIsNoChange() {
        String key = "/l/694d7c1b2e3f4a01";
        QueueView before = QueueView.of("/l", List.of(kv(key, 10, "a1b2c3d4e5f60718")));
        QueueView after = QueueView.of("/l", List.of(kv(key, 10, "a1b2c3d4e5f60718")));
        assertEquals("", StatusFormat.change(before, after, Map.of()));
    }

    /** A waiter that gave up and queued again under its key is a waiter that left and one that joined. */
    @Test
    void aWaiterThatQueuesAgainUnderTheSameKeyLeftAndJoined() {
        String holder = "/l/1";
        String waiter = "/l/2";
        QueueView before = QueueView.of("/l", List.of(kv(holder, 10, "a"), kv(waiter, 11, "b")));
        QueueView after = QueueView.of("/l", List.of(kv(holder, 10, "a"), kv(waiter, 15, "b")));
        assertEquals("waiter " + waiter + " left; waiter " + waiter + " joined at 1",
                StatusFormat.change(before, after, Map.of()));
    }
}
