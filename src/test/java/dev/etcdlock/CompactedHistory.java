package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.PutRequest;

/** Puts a test's watches where they must resume from a revision etcd has compacted. */
final class CompactedHistory {
    private CompactedHistory() {
    }

    /**
     * Writes 20 revisions under {@code /compaction/other}, compacts up to the last, then kills and restarts member 0:
     * every stream breaks, and each watch must resume from a revision that is gone.
     */
    static void compactAndBreakStreams(EtcdTestCluster etcd, Engine admin) {
        long last = 0;
        for (int i = 0; i < 20; i++) {
            last = admin.kv().put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("/compaction/other"))
                    .build()).join().getHeader().getRevision();
        }
        admin.kv().compact(last).join();
        etcd.local().kill(0);
        etcd.local().restart(0);
    }
}
