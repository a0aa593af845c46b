# A topic is imported by cloud, region and name.
terraform import threefactor_topic.orders aws/us-east-1/orders
