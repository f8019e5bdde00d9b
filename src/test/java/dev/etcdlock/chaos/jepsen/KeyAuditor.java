package dev.etcdlock.chaos.jepsen;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads every key under the workloads' names twice a second during the run, so that the checker can tell whether
 * each one belonged to an attempt still running at the time (an orphan audit during the run, not only at its end).
 * Reads that fail (etcd down) are skipped: a key cannot be seen then, and neither can it block anybody.
 */
final class KeyAuditor implements AutoCloseable {
    /** A key seen by a read sent at {@code sentMicros} and answered at {@code answeredMicros}. */
    record Observation(long sentMicros, long answeredMicros, Workload workload, String key, long lease,
            long createRevision) {
    }

    private final Engine admin;
    private final List<Observation> observations = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopped;
    private int reads;

    KeyAuditor(Engine admin) {
        this.admin = admin;
        this.thread = new Thread(this::run, "jepsen-key-auditor");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        while (!stopped) {
            for (Workload w : Workload.values()) {
                ByteString prefix = ByteString.copyFromUtf8(w.prefix + "/");
                long sent = LockWorker.now();
                try {
                    List<KeyValue> kvs = admin.kv().range(RangeRequest.newBuilder().setKey(prefix)
                            .setRangeEnd(Kv.prefixEnd(prefix)).build()).get(2, TimeUnit.SECONDS).getKvsList();
                    long answered = LockWorker.now();
                    synchronized (observations) {
                        reads++;
                        for (KeyValue kv : kvs) {
                            observations.add(new Observation(sent, answered, w, kv.getKey().toStringUtf8(),
                                    kv.getLease(), kv.getCreateRevision()));
                        }
                    }
                } catch (Exception unanswered) {
                    // etcd down or slow: nothing seen this round
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    List<Observation> observations() {
        synchronized (observations) {
            return List.copyOf(observations);
        }
    }

    int reads() {
        synchronized (observations) {
            return reads;
        }
    }

    @Override
    public void close() throws InterruptedException {
        stopped = true;
        thread.interrupt();
        thread.join(10_000);
    }
}
