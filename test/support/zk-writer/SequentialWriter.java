// A ZooKeeper client that writes sequential znodes one after another for as long as it runs,
// the way an application would: the real ZooKeeper client library, one session over a
// connection string of several servers, retrying on connection loss. Prints one line per outcome:
//   ack <n> <path> <millis>    the server acknowledged write n as <path>
//   maybe <n> <millis>         connection lost before the answer: write n may or may not exist
// It stops when its stdin closes. Used by the scaling test to prove no acknowledged write is lost.
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class SequentialWriter {
  private static volatile boolean running = true;

  public static void main(String[] args) throws Exception {
    String connect = args[0];
    String parent = args[1];
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    Thread stdin = new Thread(() -> {
      try {
        while (System.in.read() != -1) {}
      } catch (Exception e) {
        // closed
      }
      running = false;
    });
    stdin.setDaemon(true);
    stdin.start();

    CountDownLatch connected = new CountDownLatch(1);
    ZooKeeper zk = new ZooKeeper(connect, 30000, event -> {
      if (event.getState() == org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) connected.countDown();
    });
    connected.await();
    try {
      zk.create(parent, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
    } catch (KeeperException.NodeExistsException e) {
      // from an earlier run
    }
    out.println("ready");
    long n = 0;
    while (running) {
      n++;
      try {
        String path = zk.create(parent + "/w-", Long.toString(n).getBytes("UTF-8"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
        out.println("ack " + n + " " + path + " " + System.currentTimeMillis());
      } catch (KeeperException.ConnectionLossException e) {
        out.println("maybe " + n + " " + System.currentTimeMillis());
        Thread.sleep(50);
      } catch (KeeperException.SessionExpiredException e) {
        out.println("maybe " + n + " " + System.currentTimeMillis());
        zk.close();
        CountDownLatch again = new CountDownLatch(1);
        zk = new ZooKeeper(connect, 30000, event -> {
          if (event.getState() == org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) again.countDown();
        });
        again.await();
      } catch (KeeperException e) {
        out.println("error " + n + " " + e.code() + " " + System.currentTimeMillis());
        Thread.sleep(50);
      }
    }
    zk.close();
    out.println("done " + n);
  }
}
