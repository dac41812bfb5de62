<?php

// What the lab's git refs change (lab/roles/lab_git/files/refs/): main is v1 and healthy.
return [
    'version' => 'v1',
    'healthy' => true,
];
