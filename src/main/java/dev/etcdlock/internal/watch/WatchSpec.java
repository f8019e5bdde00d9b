package dev.etcdlock.internal.watch;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.kv.Kv;
import java.util.Objects;

/** What to watch: a key or a key range, and which events. Subscriptions with equal specs share one etcd watch. */
public record WatchSpec(ByteString key, ByteString rangeEnd, boolean noPut) {

    public WatchSpec {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(rangeEnd, "rangeEnd");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("watch key must not be empty");
        }
    }

    public static WatchSpec key(ByteString key) {
        return new WatchSpec(key, ByteString.EMPTY, false);
    }

    public static WatchSpec prefix(ByteString prefix) {
        return new WatchSpec(prefix, Kv.prefixEnd(prefix), false);
    }

    /** The same range, deletes only: what a lock waiter needs, at half the traffic. */
    public WatchSpec deletesOnly() {
        return new WatchSpec(key, rangeEnd, true);
    }
}
