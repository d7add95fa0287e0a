/// A change to the tree that may fire watches; ``WatchManager`` knows which watches each one fires.
public enum WatchTrigger: Sendable, Equatable {
    /// Fires data/exists watches on the path (NodeCreated) and child watches on its parent (NodeChildrenChanged).
    case created(String)
    /// Fires data and child watches on the path (NodeDeleted, once per watcher) and child watches on its parent.
    case deleted(String)
    /// Fires data watches on the path (NodeDataChanged).
    case dataChanged(String)
}
