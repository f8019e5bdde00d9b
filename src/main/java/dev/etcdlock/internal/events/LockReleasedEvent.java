package dev.etcdlock.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: a hold ended by its owner's unlock (or resign): the key was deleted while it was still ours. */
@Name("dev.etcdlock.LockReleased")
@Label("Lock Released")
@Category("etcd-lock")
@Description("A held lock, permit or leadership term was released by its owner")
@StackTrace(false)
final class LockReleasedEvent extends Event {
    @Label("Kind")
    String kind;

    @Label("Name")
    String name;

    @Label("Fencing Token")
    long fencingToken;

    @Label("Hold Time")
    @Description("From the acquisition to the answer of the deleting request")
    @Timespan(Timespan.NANOSECONDS)
    long holdTime;
}
