# A handler is imported by cloud, region and name. After import, set `function.source_dir` (or
# `source_zip`) and move any secret variables to `function.secret_environment` in the configuration.
terraform import threefactor_eventhandler.order_placed aws/us-east-1/order-placed
