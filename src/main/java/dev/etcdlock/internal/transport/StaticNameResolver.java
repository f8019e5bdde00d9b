package dev.etcdlock.internal.transport;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Hands gRPC the configured members, one address group each, so its round-robin balancer can skip a member that
 * is down and spread new streams over the rest. Host names are resolved when the client is built, so an unknown
 * host fails at once with a message instead of as a connect timeout; and again when gRPC asks (a connection to a
 * member failed: {@link #refresh()}) and every {@link #RESOLVE_AGAIN_EVERY}, because members move (a Kubernetes pod
 * that is rescheduled keeps its name and gets a new address). A name that no longer resolves keeps its last
 * addresses. IP literals are never looked up. The JVM caches what it looked up ({@code networkaddress.cache.ttl},
 * 30 s by default), so a move is seen within that plus the 30 s period at worst.
 *
 * <p>A member that is frozen or cut off with its connections open looks healthy to gRPC until its keepalive gives
 * up (15 s). {@link #bench} takes such a member out of the list for a while, which makes round robin stop sending it
 * new calls; calls already on it go on until they end. When it is put back, gRPC connects to it afresh and uses it
 * only once it answers the HTTP/2 handshake, so putting back a member that is still frozen costs nothing. At least
 * one member always stays in the list.
 */
final class StaticNameResolver extends NameResolver {
    static final String SCHEME = "etcd-lock";
    private static final System.Logger LOG = System.getLogger(StaticNameResolver.class.getName());

    static final Duration RESOLVE_AGAIN_EVERY = Duration.ofSeconds(30);
    /** gRPC asks on every failed connection attempt: while a member is down, look its name up at most this often. */
    private static final Duration RESOLVE_AT_MOST_EVERY = Duration.ofSeconds(5);

    private final String authority;
    private final List<Endpoint> endpoints;
    private final boolean hasHostNames;
    // from here on in the channel's synchronization context
    private List<EquivalentAddressGroup> groups;
    private final Set<Integer> benched = new HashSet<>();
    private volatile SynchronizationContext sync;
    private volatile ScheduledExecutorService timer;
    private volatile Executor offload;
    private Listener2 listener;
    private boolean resolving;
    private long lastResolvedNanos = System.nanoTime();
    private SynchronizationContext.ScheduledHandle periodic;
    private SynchronizationContext.ScheduledHandle deferred;

    private StaticNameResolver(List<Endpoint> endpoints, List<EquivalentAddressGroup> groups) {
        this.authority = endpoints.get(0).authority();
        this.endpoints = List.copyOf(endpoints);
        this.hasHostNames = endpoints.stream().anyMatch(e -> !isIpLiteral(e.host()));
        this.groups = groups;
    }

    /** The resolver of one channel; {@link #bench} reaches the instance the channel uses. */
    static final class Factory extends NameResolver.Factory {
        private final StaticNameResolver resolver;

        private Factory(StaticNameResolver resolver) {
            this.resolver = resolver;
        }

        @Override
        public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
            resolver.sync = args.getSynchronizationContext();
            resolver.timer = args.getScheduledExecutorService();
            resolver.offload = args.getOffloadExecutor();
            return resolver;
        }

        @Override
        public String getDefaultScheme() {
            return SCHEME;
        }

        /**
         * Takes the member at {@code address} out of the balancer's list for {@code duration}, unless it is out
         * already or it is the last one in. Any thread.
         */
        void bench(SocketAddress address, Duration duration) {
            SynchronizationContext context = resolver.sync;
            if (context != null && address != null) {
                context.execute(() -> resolver.bench(address, duration));
            }
        }
    }

    static Factory factory(List<Endpoint> endpoints) {
        List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (Endpoint endpoint : endpoints) {
            try {
                groups.add(resolve(endpoint));
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("bad etcd endpoint '" + endpoint + "': unknown host '"
                        + endpoint.host() + "'", e);
            }
        }
        return new Factory(new StaticNameResolver(endpoints, List.copyOf(groups)));
    }

    private static EquivalentAddressGroup resolve(Endpoint endpoint) throws UnknownHostException {
        List<SocketAddress> socketAddresses = new ArrayList<>();
        for (InetAddress address : InetAddress.getAllByName(endpoint.host())) {
            socketAddresses.add(new InetSocketAddress(address, endpoint.port()));
        }
        return new EquivalentAddressGroup(socketAddresses);
    }

    /** IPv4 dotted quads and IPv6 literals (the only hosts with a colon): nothing to look up. */
    static boolean isIpLiteral(String host) {
        return host.indexOf(':') >= 0 || host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    @Override
    public String getServiceAuthority() {
        return authority;
    }

    @Override
    public void start(Listener2 listener) {
        this.listener = listener;
        publish();
        if (hasHostNames) {
            periodic = sync.scheduleWithFixedDelay(() -> resolveAgain(true), RESOLVE_AGAIN_EVERY.toNanos(),
                    RESOLVE_AGAIN_EVERY.toNanos(), TimeUnit.NANOSECONDS, timer);
        }
    }

    /** gRPC's request after a connection failed: the member may have moved. */
    @Override
    public void refresh() {
        resolveAgain(false);
    }

    @Override
    public void shutdown() {
        listener = null;
        if (periodic != null) {
            periodic.cancel();
            periodic = null;
        }
        if (deferred != null) {
            deferred.cancel();
            deferred = null;
        }
    }

    /**
     * Looks the names up off the channel's threads (a lookup blocks) and publishes what changed. A request within
     * {@link #RESOLVE_AT_MOST_EVERY} of the last lookup is put off until then, not dropped, and requests meanwhile
     * share it.
     */
    private void resolveAgain(boolean scheduled) {
        if (!hasHostNames || listener == null || resolving || deferred != null) {
            return;
        }
        long wait = lastResolvedNanos + RESOLVE_AT_MOST_EVERY.toNanos() - System.nanoTime();
        if (!scheduled && wait > 0) {
            deferred = sync.schedule(() -> {
                deferred = null;
                resolveAgain(true);
            }, wait, TimeUnit.NANOSECONDS, timer);
            return;
        }
        resolving = true;
        lastResolvedNanos = System.nanoTime();
        List<EquivalentAddressGroup> before = groups;
        Runnable lookup = () -> {
            List<EquivalentAddressGroup> fresh = new ArrayList<>();
            try {
                for (int i = 0; i < endpoints.size(); i++) {
                    Endpoint endpoint = endpoints.get(i);
                    EquivalentAddressGroup last = before.get(i);
                    try {
                        fresh.add(isIpLiteral(endpoint.host()) ? last : resolve(endpoint));
                    } catch (UnknownHostException | RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, () -> "etcd member " + endpoint + " does not resolve "
                                + "any more (" + e + "); keeping its last addresses " + last.getAddresses());
                        fresh.add(last);
                    }
                }
            } finally {
                sync.execute(() -> {
                    resolving = false;
                    if (fresh.size() == groups.size() && changed(groups, fresh) && listener != null) {
                        LOG.log(System.Logger.Level.INFO, () -> "etcd members resolve to new addresses: " + fresh);
                        groups = List.copyOf(fresh);
                        publish();
                    }
                });
            }
        };
        try {
            Executor executor = offload;
            if (executor != null) {
                executor.execute(lookup);
            } else {
                Thread t = new Thread(lookup, "etcd-lock-resolve");
                t.setDaemon(true);
                t.start();
            }
        } catch (RuntimeException shutDown) { // the channel's offload executor is gone: it is closing
            resolving = false;
        }
    }

    /** Whether a member's addresses changed, their order aside (a name with several records may rotate them). */
    private static boolean changed(List<EquivalentAddressGroup> before, List<EquivalentAddressGroup> after) {
        for (int i = 0; i < before.size(); i++) {
            if (!new HashSet<>(before.get(i).getAddresses()).equals(new HashSet<>(after.get(i).getAddresses()))) {
                return true;
            }
        }
        return false;
    }

    private void bench(SocketAddress address, Duration duration) {
        int member = indexOf(address);
        if (listener == null || member < 0 || benched.contains(member) || benched.size() + 1 >= groups.size()) {
            return;
        }
        benched.add(member);
        LOG.log(System.Logger.Level.INFO, () -> "etcd member " + address + " did not answer in time; no new calls"
                + " go to it for " + duration.toSeconds() + " s");
        publish();
        sync.schedule(() -> {
            benched.remove(member);
            publish();
        }, duration.toNanos(), TimeUnit.NANOSECONDS, timer);
    }

    private int indexOf(SocketAddress address) {
        for (int i = 0; i < groups.size(); i++) {
            if (groups.get(i).getAddresses().contains(address)) {
                return i;
            }
        }
        return -1;
    }

    private void publish() {
        if (listener == null) {
            return;
        }
        List<EquivalentAddressGroup> in = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            if (!benched.contains(i)) {
                in.add(groups.get(i));
            }
        }
        listener.onResult(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(in)).build());
    }
}
