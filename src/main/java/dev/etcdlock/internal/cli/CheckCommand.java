package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.ClusterGrpc;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.Member;
import dev.etcdlock.internal.proto.MemberListRequest;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.transport.ServerInfo;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchSpec;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Checks, against a real etcd, the pieces every lock stands on, and prints a timeline: connect, grant a lease, keep
 * it alive past twice its TTL, watch its key, revoke it and see the key deleted.
 */
final class CheckCommand {
    private static final Duration TTL = Duration.ofSeconds(2);
    static final String DEFAULT_PREFIX = "/etcd-lock/check/";

    private CheckCommand() {
    }

    static int run(Options options, PrintStream out) {
        long t0 = System.nanoTime();
        try (EtcdTarget target = EtcdTarget.of(options, out);
                Engine engine = Engine.connect(target.settings())) {
            List<String> endpoints = target.endpoints();
            ServerInfo server = engine.server();
            line(out, t0, "connected to " + endpoints + ": etcd " + server.version() + ", leader "
                    + (server.leader() != 0 ? Long.toHexString(server.leader())
                    : "not shown (this user may not call Maintenance.Status)"));
            for (Member m : engine.transport().call(ClusterGrpc.getMemberListMethod(),
                    MemberListRequest.getDefaultInstance(), true).join().getMembersList()) {
                line(out, t0, "  member " + m.getName() + " " + Long.toHexString(m.getID()) + " "
                        + m.getClientURLsList());
            }

            Lease lease = engine.leases().grant(TTL).join();
            ByteString key = ByteString.copyFromUtf8((options.prefix() != null ? options.prefix() : DEFAULT_PREFIX)
                    + Long.toHexString(lease.id()));
            long revision;
            try {
                revision = engine.kv().put(PutRequest.newBuilder().setKey(key).setLease(lease.id()).build()).join()
                        .getHeader().getRevision();
            } catch (RuntimeException e) {
                if (EtcdErrors.kind(e) == EtcdErrors.Kind.PERMISSION_DENIED) {
                    throw new EtcdRequestException("this user may not write " + key.toStringUtf8() + " (permission "
                            + "denied): give check a --prefix the user's role grants, such as the prefix of its "
                            + "locks, or grant one (etcdctl role grant-permission ROLE readwrite "
                            + DEFAULT_PREFIX + " --prefix=true)", EtcdErrors.unwrap(e));
                }
                throw e;
            }
            line(out, t0, "granted lease " + Long.toHexString(lease.id()) + " (TTL " + lease.ttlSeconds()
                    + " s) and put " + key.toStringUtf8() + " at revision " + revision);

            CompletableFuture<Event> deleted = new CompletableFuture<>();
            engine.watches().subscribe(WatchSpec.key(key), revision, new WatchListener() {
                @Override
                public void onEvents(List<Event> events) {
                    for (Event e : events) {
                        if (e.getType() == Event.EventType.DELETE) {
                            deleted.complete(e);
                        }
                    }
                }

                @Override
                public void onError(Throwable error) {
                    deleted.completeExceptionally(error);
                }
            }).ready().get(10, TimeUnit.SECONDS);
            line(out, t0, "watching " + key.toStringUtf8() + " from revision " + (revision + 1));

            long watchMs = TTL.multipliedBy(2).plusMillis(500).toMillis();
            try {
                // ends early only if the lease ends: that would be the failure this check looks for
                lease.done().get(watchMs, TimeUnit.MILLISECONDS);
                throw new IllegalStateException("lease " + Long.toHexString(lease.id()) + " ended unexpectedly");
            } catch (TimeoutException stillAlive) {
                line(out, t0, "lease still valid after " + watchMs + " ms (> 2 x TTL): kept alive, "
                        + engine.leases().streamsOpened() + " keep-alive stream");
            } catch (ExecutionException lost) {
                throw new IllegalStateException("lease " + Long.toHexString(lease.id()) + " was lost: "
                        + lost.getCause().getMessage(), lost.getCause());
            }

            engine.leases().revoke(lease).join();
            Event event = deleted.get(10, TimeUnit.SECONDS);
            line(out, t0, "revoked the lease; the watch saw " + event.getKv().getKey().toStringUtf8()
                    + " deleted at revision " + event.getKv().getModRevision() + " (" + engine.watches().streamsOpened()
                    + " watch stream)");
            line(out, t0, "OK");
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.println("interrupted");
            return 130;
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e.toString(), e);
        }
    }

    private static void line(PrintStream out, long t0, String text) {
        out.printf("%7.1f ms  %s%n", (System.nanoTime() - t0) / 1e6, text);
    }
}
