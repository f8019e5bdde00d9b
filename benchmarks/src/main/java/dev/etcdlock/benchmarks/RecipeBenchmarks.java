package dev.etcdlock.benchmarks;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LockHandle;
import dev.etcdlock.ReadWriteLock;
import dev.etcdlock.Semaphore;
import dev.etcdlock.Session;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Acquire/release rate of etcd-lock's semaphore and read-write lock next to its mutex, in the same run against the
 * same etcd (jetcd has neither recipe, so the mutex is the yardstick). One benchmark, {@code recipes}: {@code
 * contenders} worker threads, each with its own client and session, all on one name, each looping acquire → release
 * with nothing in between ({@link Driver}); the score is acquisitions per second by all workers together. With one
 * contender that is the uncontended cycle rate.
 *
 * <ul>
 *   <li>{@code recipe=mutex}: {@code session.mutex(name).lock()} / {@code unlock()}.</li>
 *   <li>{@code recipe=semaphore}: {@code session.semaphore(name, 3).acquire()} / {@code unlock()}: up to 3 holders.</li>
 *   <li>{@code recipe=rwReadMostly}: {@code session.readWriteLock(name)}: every worker takes the write lock on each
 *       tenth acquisition and the read lock otherwise (90% reads).</li>
 * </ul>
 *
 * <pre>
 * benchmarks/run --quick 'RecipeBenchmarks'
 * benchmarks/run --quick 'RecipeBenchmarks' -p contenders=8 -p recipe=semaphore
 * </pre>
 */
public class RecipeBenchmarks {

    /** A recipe as the workers use it: one acquisition, its release returned. */
    public enum Recipe {
        mutex {
            @Override
            Driver.Locker locker(Session session, String name) {
                var mutex = session.mutex(name);
                return () -> held(mutex.lock());
            }
        },
        semaphore {
            @Override
            Driver.Locker locker(Session session, String name) {
                Semaphore permits = session.semaphore(name, 3);
                return () -> held(permits.acquire());
            }
        },
        rwReadMostly {
            @Override
            Driver.Locker locker(Session session, String name) {
                ReadWriteLock rw = session.readWriteLock(name);
                int[] count = {0};
                return () -> held(++count[0] % 10 == 0 ? rw.writeLock().lock() : rw.readLock().lock());
            }
        };

        abstract Driver.Locker locker(Session session, String name);

        static LockClient.Held held(LockHandle handle) {
            return handle::unlock;
        }
    }

    @State(Scope.Benchmark)
    public static class RecipeState {
        @Param({"mutex", "semaphore", "rwReadMostly"})
        public Recipe recipe;

        @Param({"1", "8"})
        public int contenders;

        final List<EtcdLockClient> clients = new ArrayList<>();
        final List<Session> sessions = new ArrayList<>();
        Driver driver;

        @Setup(Level.Trial)
        public void setUp() {
            String name = LockBenchmarks.uniquePrefix("recipes") + "/" + recipe;
            List<Driver.Locker> lockers = new ArrayList<>();
            for (int i = 0; i < contenders; i++) {
                EtcdLockClient client = EtcdLockClient.builder().endpoints(Endpoints.require()).build();
                clients.add(client);
                Session session = client.newSession(Duration.ofSeconds(60));
                sessions.add(session);
                lockers.add(recipe.locker(session, name));
            }
            driver = new Driver("recipe", lockers, false);
        }

        @Setup(Level.Iteration)
        public void startIteration() {
            driver.resetStats();
        }

        @TearDown(Level.Iteration)
        public void endIteration() {
            driver.reportStats();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            driver.close();
            sessions.forEach(Session::close);
            clients.forEach(EtcdLockClient::close);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void recipes(RecipeState s) throws InterruptedException {
        s.driver.awaitAcquisition();
    }
}
