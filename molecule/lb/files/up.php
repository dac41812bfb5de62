<?php
// Health path: 200 while the node is in service.
header('Content-Type: text/plain');
echo "ok\n";
