package dev.etcdlock;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * When each holder was inside, on {@link System#nanoTime()}, for checking how many were inside at once. A holder
 * stays a random 0-2 ms: a critical section of nanoseconds lets two holders overlap without the test seeing it.
 */
public final class Intervals {
    /** One holder's stay: {@code exclusive} for a mutex holder or a writer, false for a reader. */
    public record Interval(String holder, boolean exclusive, long enter, long exit) {
        boolean overlaps(Interval other) {
            return enter < other.exit && other.enter < exit;
        }
    }

    private final List<Interval> all = new ArrayList<>();

    /** Call right after acquiring: stays 0-2 ms, then records the stay; release after it returns. */
    public void hold(String holder) {
        record(holder, true, Intervals::stayBriefly);
    }

    /** As {@link #hold}, for a reader, which may share its stay with other readers. */
    public void holdShared(String holder) {
        record(holder, false, Intervals::stayBriefly);
    }

    /** Records the stay of {@code inside}, run between acquiring and releasing. */
    public void record(String holder, boolean exclusive, Runnable inside) {
        long enter = System.nanoTime();
        inside.run();
        long exit = System.nanoTime();
        synchronized (all) {
            all.add(new Interval(holder, exclusive, enter, exit));
        }
    }

    public static void stayBriefly() {
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_001));
    }

    public List<Interval> all() {
        synchronized (all) {
            return List.copyOf(all);
        }
    }

    /** Fails unless exactly {@code count} stays were recorded and no two of them overlap. */
    public void assertExclusive(int count) {
        assertTrue(all().size() == count, all().size() + " stays recorded, expected " + count);
        assertAtMostAtOnce(1);
    }

    /** Fails when more than {@code permits} stays overlap at any moment; returns the most seen at once. */
    public int assertAtMostAtOnce(int permits) {
        List<Interval> byEnter = new ArrayList<>(all());
        byEnter.sort(Comparator.comparingLong(Interval::enter));
        List<Interval> inside = new ArrayList<>();
        int most = 0;
        for (Interval next : byEnter) {
            inside.removeIf(i -> i.exit <= next.enter);
            inside.add(next);
            if (inside.size() > permits) {
                fail(inside.size() + " holders at once, " + permits + " allowed: " + inside);
            }
            most = Math.max(most, inside.size());
        }
        return most;
    }

    /** Fails when an exclusive stay (a writer's) overlaps any other stay; returns the most shared stays at once. */
    public int assertExclusiveStaysAlone() {
        List<Interval> stays = all();
        List<Interval> exclusive = stays.stream().filter(Interval::exclusive).toList();
        for (Interval w : exclusive) {
            for (Interval other : stays) {
                if (other != w && w.overlaps(other)) {
                    fail("a writer overlapped another holder: " + w + " and " + other);
                }
            }
        }
        Intervals shared = new Intervals();
        stays.stream().filter(Predicate.not(Interval::exclusive)).forEach(shared.all::add);
        return shared.assertAtMostAtOnce(Integer.MAX_VALUE);
    }
}
