package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.transport.Credentials;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeRequest;
import java.util.List;
import java.util.stream.Collectors;

/** What is in etcd under a prefix, read with a fresh connection: for checking what a test left behind. */
public final class EtcdKeys {
    private EtcdKeys() {
    }

    public static List<KeyValue> under(List<String> endpoints, String prefix) {
        try (Engine engine = Engine.connect(Engine.Settings.of(endpoints))) {
            ByteString p = ByteString.copyFromUtf8(prefix);
            return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p)).build())
                    .join().getKvsList();
        }
    }

    public static List<String> keysUnder(List<String> endpoints, String prefix) {
        return under(endpoints, prefix).stream().map(kv -> kv.getKey().toStringUtf8()).collect(Collectors.toList());
    }

    public static long count(List<String> endpoints, String prefix) {
        return under(endpoints, prefix).size();
    }

    /** The same, on an etcd with authentication enabled. */
    public static long count(List<String> endpoints, String prefix, String user, String password) {
        try (Engine engine = Engine.connect(Engine.Settings.of(endpoints)
                .withCredentials(new Credentials(user, password)))) {
            ByteString p = ByteString.copyFromUtf8(prefix);
            return engine.kv().range(RangeRequest.newBuilder().setKey(p).setRangeEnd(Kv.prefixEnd(p))
                    .setCountOnly(true).build()).join().getCount();
        }
    }
}
