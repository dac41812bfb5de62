<?php

// Ref v2: the page and the job show v2.
return [
    'version' => 'v2',
    'healthy' => true,
];
