# A table is imported by cloud, region and name.
terraform import threefactor_table.orders aws/us-east-1/orders
