package dev.etcdlock.chaos.jepsen;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The worker JVMs of one run: started with the test's classpath, frozen, killed, and always stopped at the end. */
final class WorkerProcesses implements AutoCloseable {
    private final Path dir;
    private final List<String> workerArgs; // endpoints, counter, ttl
    private final Map<Integer, Process> running = new ConcurrentHashMap<>();
    private final java.util.Set<Integer> killed = ConcurrentHashMap.newKeySet();
    // a build killed mid-run must not leave frozen or running worker JVMs behind
    private final Thread reaper = new Thread(this::close, "jepsen-worker-reaper");
    private final List<Path> histories = new ArrayList<>();
    private int nextId = 1;

    WorkerProcesses(Path dir, List<String> endpoints, String counterKey, Duration ttl) {
        this.dir = dir;
        this.workerArgs = List.of(String.join(",", endpoints), counterKey, Long.toString(ttl.toSeconds()));
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    /** Workers that ended with a non-zero status without being killed on purpose, with their status. */
    Map<Integer, Integer> unexpectedExits() {
        Map<Integer, Integer> result = new java.util.TreeMap<>();
        running.forEach((id, p) -> {
            if (!killed.contains(id) && !p.isAlive() && p.exitValue() != 0) {
                result.put(id, p.exitValue());
            }
        });
        return result;
    }

    /** Starts a worker that runs for {@code seconds}; returns its id. */
    synchronized int start(long seconds) {
        int id = nextId++;
        Path history = dir.resolve("worker-" + id + ".history");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx128m", "-XX:+ExitOnOutOfMemoryError", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), LockWorker.class.getName()));
        command.addAll(workerArgs);
        command.addAll(List.of(Integer.toString(id), history.toString(), Long.toString(seconds)));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("worker-" + id + ".log").toFile()).start();
            running.put(id, p);
            histories.add(history);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return id;
    }

    synchronized List<Path> histories() {
        return List.copyOf(histories);
    }

    List<Integer> alive() {
        return running.entrySet().stream().filter(e -> e.getValue().isAlive()).map(Map.Entry::getKey).sorted()
                .toList();
    }

    void kill(int id) {
        killed.add(id);
        Process p = running.get(id);
        p.destroyForcibly();
        await(p, Duration.ofSeconds(10));
    }

    /**
     * Asks the worker to freeze itself the next time it acquires the lock, and waits until it has (false if it did not
     * within {@code timeout}, e.g. because it never got the lock; the request is then withdrawn).
     */
    boolean freezeWhileHolding(int id, Duration timeout) {
        Path request = LockWorker.freezeRequest(dir, id);
        try {
            Files.createFile(request);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                if (isStopped(running.get(id).pid())) {
                    return true;
                }
                Thread.sleep(5);
            }
            if (Files.deleteIfExists(request)) {
                return false; // withdrawn before the worker saw it
            }
            // the worker took the request at the last moment: it is stopping itself; let it go on
            awaitStopped(id);
            resume(id);
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Asks the worker to hold on to its next hold of {@code workload} until it hears of its loss, and waits until it
     * holds; returns its operation number and the key it holds ("op key"), or nothing if it did not get one within
     * {@code timeout} (the request is then withdrawn).
     */
    Optional<String> holdUntilLost(int id, Workload workload, Duration timeout) {
        Path request = LockWorker.strikeRequest(dir, id, workload);
        Path target = LockWorker.strikeTarget(dir, id, workload);
        try {
            // a request taken too late by the last strike, and its answer, must not be read as this one's
            Files.deleteIfExists(request);
            Files.deleteIfExists(target);
            Files.createFile(request);
            if (!appears(target, timeout)) {
                if (Files.deleteIfExists(request)) {
                    return Optional.empty(); // withdrawn before the worker saw it
                }
                // taken at the last moment: the worker holds now and tells in a moment
                if (!appears(target, Duration.ofSeconds(5))) {
                    return Optional.empty();
                }
            }
            String key = Files.readString(target);
            Files.delete(target);
            return Optional.of(key);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static boolean appears(Path file, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(file)) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    private void awaitStopped(int id) throws IOException, InterruptedException {
        Process p = running.get(id);
        while (p.isAlive() && !isStopped(p.pid())) {
            Thread.sleep(5);
        }
    }

    /** State T in /proc/PID/stat: stopped by a signal. False once the process is gone. */
    private static boolean isStopped(long pid) throws IOException {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("T");
        } catch (java.nio.file.NoSuchFileException gone) {
            return false;
        }
    }

    void pause(int id) {
        signal(id, "STOP");
    }

    void resume(int id) {
        signal(id, "CONT");
    }

    private void signal(int id, String signal) {
        long pid = running.get(id).pid();
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits for every worker to finish on its own; returns the ids of those that had to be killed. */
    List<Integer> awaitAll(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Integer> killed = new ArrayList<>();
        for (Map.Entry<Integer, Process> e : running.entrySet()) {
            long left = Math.max(0, deadline - System.nanoTime());
            if (!await(e.getValue(), Duration.ofNanos(left))) {
                threadDump(e.getKey(), e.getValue());
                killed.add(e.getKey());
                e.getValue().destroyForcibly();
                await(e.getValue(), Duration.ofSeconds(10));
            }
        }
        return killed;
    }

    /** What a hung worker was doing, into its log: the one clue a hang leaves. */
    private void threadDump(int id, Process p) {
        try {
            if (isStopped(p.pid())) {
                System.out.println("jepsen: worker " + id + " is stopped (SIGSTOP), no thread dump");
                return;
            }
            Process jstack = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jstack").toString(),
                    Long.toString(p.pid())).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("worker-" + id + ".log").toFile()))
                    .start();
            if (!jstack.waitFor(30, TimeUnit.SECONDS)) {
                jstack.destroyForcibly();
            }
        } catch (IOException e) {
            System.out.println("jepsen: no thread dump of worker " + id + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean await(Process p, Duration timeout) {
        try {
            return p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        if (Thread.currentThread() != reaper) {
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs, or is about to
            }
        }
        for (Process p : running.values()) {
            if (p.isAlive()) {
                // a frozen JVM cannot die of SIGKILL until the kernel schedules it; SIGKILL works on stopped tasks,
                // but continue it anyway so nothing lingers in state T
                try {
                    new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor();
                } catch (IOException | InterruptedException ignored) {
                    // best effort; SIGKILL follows
                }
                p.destroyForcibly();
                await(p, Duration.ofSeconds(10));
            }
        }
    }
}
