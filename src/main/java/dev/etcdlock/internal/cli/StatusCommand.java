package dev.etcdlock.internal.cli;

import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.watch.WatchCompactedException;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * {@code status <name> [--watch] [--json]}: who holds the lock {@code <name>} and who waits, for locks of our
 * recipes, Go's {@code concurrency.Mutex}/{@code Election} and {@code etcdctl lock} alike (see {@link QueueView}).
 */
final class StatusCommand {
    static final String USAGE = """
            usage: java -jar etcd-lock.jar status <name> [--watch] [--json] [--permits N | --layout L]
                                                 [--endpoints a,b,c] [connection options]

            Shows the holder of the lock <name> and its waiters in line, read from the keys under <name>/ (our
            Mutex, Go's concurrency.Mutex and Election, etcdctl lock: <name>/<lease id in hex>, the lowest create
            revision holds; our ReadWriteLock's <name>/read/ and <name>/write/ keys are recognised too; for our
            Semaphore give --permits). For each key: its lease (hex, as etcdctl prints it) and the seconds left on
            it, the fencing token (the key's create revision); for a holder the revision at which it came to hold
            (etcd keeps no clock times: a duration is shown only under --watch, measured by this command); for a
            waiter its place in line and the key it waits for. The header says which layout was used and why.

            options:
              --watch             follow changes over one watch until Ctrl-C; on a terminal the table is redrawn,
                                  otherwise one line per change (holder change, waiter joined or left)
              --json              JSON instead of the table; with --watch one JSON object per line per change
              --permits N         the name is our Semaphore of N permits: the first N keys hold. Its keys look
                                  like election candidates' (whose values may be any number), so a semaphore is
                                  never guessed
              --layout L          mutex (also: election), semaphore (permits read from the keys' values unless
                                  --permits) or rwlock. Default: rwlock when there are <name>/read/ or
                                  <name>/write/ keys, else mutex
              --endpoints a,b,c   etcd client URLs (default: $ETCDCTL_ENDPOINTS, $ETCD_ENDPOINTS, else
                                  127.0.0.1:2379 as etcdctl); without a scheme: http://, or https:// with the
                                  TLS flags, as etcdctl
            %s
              -h, --help          this text

            exit status: 0 the lock was read (held or free); 1 etcd unreachable or refused; 2 bad usage""".formatted(
            Connection.HELP);

    /** ANSI: cursor home, clear screen. */
    private static final String CLEAR = "\033[H\033[2J";

    record Config(String name, Connection connection, boolean watch, boolean json, boolean help,
                  QueueView.Told told) {
        List<String> endpoints() {
            return connection.endpoints();
        }
    }

    private final Config config;
    private final PrintStream out;
    private final boolean terminal;

    private StatusCommand(Config config, PrintStream out, boolean terminal) {
        this.config = config;
        this.out = out;
        this.terminal = terminal;
    }

    static int run(String[] args, PrintStream out, boolean terminal) throws InterruptedException {
        Config config = parse(args);
        if (config.help()) {
            out.println(USAGE);
            return 0;
        }
        return new StatusCommand(config, out, terminal).run();
    }

    /** @throws IllegalArgumentException (exit 2) naming the bad or missing argument */
    static Config parse(String[] args) {
        String name = null;
        Connection.Flags connection = new Connection.Flags();
        boolean watch = false;
        boolean json = false;
        QueueView.Layout layout = null;
        int permits = 0;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            int eq = arg.indexOf('=');
            String flag = arg.startsWith("--") && eq > 0 ? arg.substring(0, eq) : arg;
            int taken = connection.take(args, i);
            if (taken > 0) {
                i += taken - 1;
            } else if (Options.isHelp(arg)) {
                return new Config(null, Connection.NONE, false, false, true, QueueView.Told.NOTHING);
            } else if (arg.equals("--watch")) {
                watch = true;
            } else if (arg.equals("--json")) {
                json = true;
            } else if (flag.equals("--layout")) {
                layout = layout(flag.equals(arg) ? Options.value(args, i++) : arg.substring(eq + 1));
            } else if (flag.equals("--permits")) {
                permits = permits(flag.equals(arg) ? Options.value(args, i++) : arg.substring(eq + 1));
            } else if (arg.startsWith("-") && arg.length() > 1) {
                throw new IllegalArgumentException("unknown option '" + arg + "' (see status --help)");
            } else if (name == null) {
                name = arg;
            } else {
                throw new IllegalArgumentException("status takes one lock name, got '" + name + "' and '" + arg
                        + "' (see status --help)");
            }
        }
        if (name == null) {
            throw new IllegalArgumentException("missing lock name: status <name> [--watch] [--json] (see status "
                    + "--help)");
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("the lock name must not be empty; give the name the lock was taken "
                    + "with, like /my-app/locks/x");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("the lock name must not contain NUL characters");
        }
        if (permits > 0 && layout != null && layout != QueueView.Layout.SEMAPHORE) {
            throw new IllegalArgumentException("--permits is for a semaphore, but --layout says " + layout.option
                    + "; leave one out");
        }
        return new Config(name, connection.build().orEndpoints(List.of(LockCommand.DEFAULT_ENDPOINT)), watch, json,
                false, new QueueView.Told(layout, permits));
    }

    private static QueueView.Layout layout(String value) {
        return switch (value) {
            case "mutex", "election" -> QueueView.Layout.MUTEX;
            case "semaphore" -> QueueView.Layout.SEMAPHORE;
            case "rwlock" -> QueueView.Layout.READ_WRITE;
            default -> throw new IllegalArgumentException("--layout must be mutex, election, semaphore or rwlock, "
                    + "was '" + value + "'");
        };
    }

    private static int permits(String value) {
        int permits;
        try {
            permits = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            permits = 0;
        }
        if (permits < 1 || permits > QueueView.MAX_PERMITS) {
            throw new IllegalArgumentException("--permits must be a whole number from 1 to " + QueueView.MAX_PERMITS
                    + " (the count the semaphore was made with), was '" + value + "'");
        }
        return permits;
    }

    private int run() throws InterruptedException {
        try (Engine engine = Engine.connect(config.connection().settings())) {
            StatusReader reader = new StatusReader(engine, config.name(), config.told());
            StatusReader.Snapshot snapshot = reader.read();
            if (!config.watch()) {
                out.print(config.json() ? StatusFormat.json(snapshot, Map.of()) + "\n"
                        : StatusFormat.table(snapshot, Map.of()));
                return 0;
            }
            watch(engine.watches(), reader, snapshot);
            return 0; // not reached: the watch ends with Ctrl-C or a failure
        }
    }

    /**
     * Follows the queue: each batch of events is a cue to read the whole state again (one Range and the TTLs, at
     * most once per batch, cues coalesced while a read runs), and a change in holders or waiters is printed.
     */
    private void watch(WatchMultiplexer watches, StatusReader reader, StatusReader.Snapshot first)
            throws InterruptedException {
        // When we saw each hold begin; true for those already holding at start (only a lower bound). By hold, not
        // key name: a session that locks again under the same key holds anew, and its time starts fresh.
        Map<QueueView.Hold, Long> seenHolding = new HashMap<>();
        Map<QueueView.Hold, Boolean> sinceStart = new HashMap<>();
        long start = System.nanoTime();
        for (QueueView.Entry e : first.view().holders()) {
            seenHolding.put(e.hold(), start);
            sinceStart.put(e.hold(), true);
        }
        print(null, first, Map.of(), "");

        BlockingQueue<Object> cues = new LinkedBlockingQueue<>();
        StatusReader.Snapshot shown = first;
        while (true) {
            WatchMultiplexer.Subscription subscription = watches.subscribe(WatchSpec.prefix(reader.prefix()),
                    shown.revision(), new WatchListener() {
                        @Override
                        public void onEvents(List<Event> events) {
                            cues.add(Boolean.TRUE);
                        }

                        @Override
                        public void onError(Throwable error) {
                            cues.add(error);
                        }
                    });
            try {
                while (true) {
                    Object cue = cues.take();
                    List<Object> more = new ArrayList<>();
                    cues.drainTo(more);
                    more.add(cue);
                    Throwable error = (Throwable) more.stream().filter(c -> c instanceof Throwable).findFirst()
                            .orElse(null);
                    if (error instanceof WatchCompactedException) {
                        // events between our last read and now are gone: the read below catches up, then watch anew
                        shown = show(reader, shown, seenHolding, sinceStart);
                        break;
                    }
                    if (error != null) {
                        throw error instanceof RuntimeException r ? r : new IllegalStateException(error);
                    }
                    shown = show(reader, shown, seenHolding, sinceStart);
                }
            } finally {
                subscription.cancel();
            }
        }
    }

    private StatusReader.Snapshot show(StatusReader reader, StatusReader.Snapshot shown,
            Map<QueueView.Hold, Long> seenHolding, Map<QueueView.Hold, Boolean> sinceStart) {
        StatusReader.Snapshot next = reader.read();
        long now = System.nanoTime();
        for (QueueView.Entry e : next.view().holders()) {
            seenHolding.putIfAbsent(e.hold(), now);
        }
        Map<QueueView.Hold, String> heldFor = heldFor(seenHolding, sinceStart);
        String change = StatusFormat.change(shown.view(), next.view(), heldFor);
        if (!change.isEmpty()) {
            print(shown, next, heldFor, change);
        }
        List<QueueView.Hold> holding = next.view().holders().stream().map(QueueView.Entry::hold).toList();
        seenHolding.keySet().retainAll(holding);
        sinceStart.keySet().retainAll(holding);
        return change.isEmpty() ? withRevision(shown, next) : next;
    }

    /** Keeps what was shown, moved to the newer revision, so that a later change is told against it. */
    private static StatusReader.Snapshot withRevision(StatusReader.Snapshot shown, StatusReader.Snapshot next) {
        return new StatusReader.Snapshot(shown.view(), next.revision(), next.ttls(), shown.since());
    }

    private void print(StatusReader.Snapshot before, StatusReader.Snapshot now, Map<QueueView.Hold, String> heldFor,
            String change) {
        if (config.json()) {
            out.println(StatusFormat.json(now, heldFor));
        } else if (terminal) {
            out.print(CLEAR + StatusFormat.table(now, heldFor) + "\n"
                    + (change.isEmpty() ? "" : "last change: " + change + "\n")
                    + "watching " + config.name() + "/ (Ctrl-C to stop)\n");
        } else {
            out.println(StatusFormat.line(before, now, heldFor));
        }
        out.flush();
    }

    private static Map<QueueView.Hold, String> heldFor(Map<QueueView.Hold, Long> seenHolding,
            Map<QueueView.Hold, Boolean> sinceStart) {
        long now = System.nanoTime();
        Map<QueueView.Hold, String> heldFor = new HashMap<>();
        seenHolding.forEach((key, at) -> heldFor.put(key, (sinceStart.containsKey(key) ? ">= " : "")
                + Durations.format(java.time.Duration.ofMillis((now - at) / 1_000_000 / 100 * 100))));
        return heldFor;
    }
}
