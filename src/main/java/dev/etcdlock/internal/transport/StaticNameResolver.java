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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Hands gRPC the configured members, one address group each, so its round-robin balancer can skip a member that
 * is down and spread new streams over the rest. Host names are resolved when the client is built, so an unknown
 * host fails at once with a message instead of as a connect timeout.
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

    private final String authority;
    private final List<EquivalentAddressGroup> groups;
    private final Set<Integer> benched = new HashSet<>(); // in the channel's synchronization context
    private volatile SynchronizationContext sync;
    private volatile ScheduledExecutorService timer;
    private Listener2 listener;

    private StaticNameResolver(String authority, List<EquivalentAddressGroup> groups) {
        this.authority = authority;
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
            InetAddress[] addresses;
            try {
                addresses = InetAddress.getAllByName(endpoint.host());
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("bad etcd endpoint '" + endpoint + "': unknown host '"
                        + endpoint.host() + "'", e);
            }
            List<SocketAddress> socketAddresses = new ArrayList<>();
            for (InetAddress address : addresses) {
                socketAddresses.add(new InetSocketAddress(address, endpoint.port()));
            }
            groups.add(new EquivalentAddressGroup(socketAddresses));
        }
        return new Factory(new StaticNameResolver(endpoints.get(0).authority(), List.copyOf(groups)));
    }

    @Override
    public String getServiceAuthority() {
        return authority;
    }

    @Override
    public void start(Listener2 listener) {
        this.listener = listener;
        publish();
    }

    @Override
    public void shutdown() {
        listener = null;
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
