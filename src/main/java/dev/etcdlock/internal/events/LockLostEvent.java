package dev.etcdlock.internal.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** JFR: a hold ended without its owner's unlock; someone else may hold the lock now. */
@Name("dev.etcdlock.LockLost")
@Label("Lock Lost")
@Category("etcd-lock")
@Description("A held lock, permit or leadership term ended without an unlock: lease lost, key deleted, or session "
        + "closed while holding")
@StackTrace(false)
final class LockLostEvent extends Event {
    @Label("Kind")
    String kind;

    @Label("Name")
    String name;

    @Label("Fencing Token")
    long fencingToken;

    @Label("Reason")
    @Description("LEASE_LOST, KEY_DELETED, SESSION_CLOSED or UNLOCK_UNANSWERED")
    String reason;

    @Label("Hold Time")
    @Description("From the acquisition until the loss was noticed")
    @Timespan(Timespan.NANOSECONDS)
    long holdTime;
}
