package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.RangeRequest;
import java.util.List;

/** Counts keys under a prefix with a fresh connection, to check what is left in etcd. */
final class KeyCounter {
    private KeyCounter() {
    }

    static long count(List<String> endpoints, String prefix) {
        try (Engine engine = Engine.connect(Engine.Settings.of(endpoints))) {
            ByteString p = ByteString.copyFromUtf8(prefix);
            return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p))
                    .setCountOnly(true).build()).join().getCount();
        }
    }
}
