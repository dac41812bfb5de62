<?php

// Ref bad-health: boots, but GET /up answers 500 (the deploy must put the old release back).
return [
    'version' => 'v3-unhealthy',
    'healthy' => false,
];
