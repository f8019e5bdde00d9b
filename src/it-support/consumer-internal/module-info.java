module consumer {
    requires dev.etcdlock;
}
