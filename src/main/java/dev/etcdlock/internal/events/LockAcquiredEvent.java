package dev.etcdlock.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: a place in a lock's queue became a hold (mutex, either side of a read-write lock, a permit, a term). */
@Name("dev.etcdlock.LockAcquired")
@Label("Lock Acquired")
@Category("etcd-lock")
@Description("A lock, read or write lock, semaphore permit or leadership term was acquired in etcd")
@StackTrace(false) // committed on the client's I/O threads, whose stacks say nothing about the caller
final class LockAcquiredEvent extends Event {
    @Label("Kind")
    @Description("Which recipe: MUTEX, READ_LOCK, WRITE_LOCK, SEMAPHORE_PERMIT or LEADERSHIP")
    String kind;

    @Label("Name")
    @Description("The lock's name (its key prefix in etcd)")
    String name;

    @Label("Key")
    @Description("The session's waiter key in etcd")
    String key;

    @Label("Fencing Token")
    @Description("Create revision of the key; larger for every later holder")
    long fencingToken;

    @Label("Lease Id")
    long leaseId;

    @Label("Wait Time")
    @Description("From the lock call to the hold, the enqueuing round trip included")
    @Timespan(Timespan.NANOSECONDS)
    long waitTime;
}
