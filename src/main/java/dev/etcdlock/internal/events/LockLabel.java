package dev.etcdlock.internal.events;

import dev.etcdlock.LockListener;
import java.util.Objects;

/** What a queue place is, for events: the recipe and the name the user gave it. */
public record LockLabel(LockListener.Kind kind, String name) {
    public LockLabel {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
    }
}
