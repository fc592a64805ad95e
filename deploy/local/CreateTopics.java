// Creates echoflow's topics in one JVM (TopicCommand costs ~2 s per topic on this machine).
// Usage: java -cp JARS CreateTopics.java BOOTSTRAP PARTITIONS TOPIC...
// Topics that already exist are left as they are.

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopics {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: CreateTopics BOOTSTRAP PARTITIONS TOPIC...");
            System.exit(2);
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        int partitions = Integer.parseInt(args[1]);
        try (Admin admin = Admin.create(props)) {
            List<NewTopic> topics = new ArrayList<>();
            for (int i = 2; i < args.length; i++) {
                topics.add(new NewTopic(args[i], partitions, (short) 1));
            }
            var result = admin.createTopics(topics);
            int failed = 0;
            for (var entry : result.values().entrySet()) {
                try {
                    entry.getValue().get();
                    System.out.println("created " + entry.getKey() + " (" + partitions + " partitions)");
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        System.out.println("exists  " + entry.getKey());
                    } else {
                        System.err.println("failed  " + entry.getKey() + ": " + e.getCause());
                        failed++;
                    }
                }
            }
            System.exit(failed == 0 ? 0 : 1);
        }
    }
}
