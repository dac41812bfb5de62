<?php

// GET /search (App\Http\Controllers\SearchController): the Typesense nodes of the site's .env, as the
// data model writes them for a site with `search: typesense` (plugins/filter/datamodel.py,
// site_platform_env): TYPESENSE_NODES lists every node of the cluster, TYPESENSE_HOST the first.
return [
    'nodes' => array_values(array_filter(array_map('trim', explode(',', (string) env('TYPESENSE_NODES', env('TYPESENSE_HOST', '')))))),
    'port' => (int) env('TYPESENSE_PORT', 8108),
    'protocol' => env('TYPESENSE_PROTOCOL', 'http'),
    'api_key' => env('TYPESENSE_API_KEY', ''),
    // The collection (or alias) searched and its fields: non-secret values of the site's `env`.
    'collection' => env('SEARCH_COLLECTION', 'products'),
    'query_by' => env('SEARCH_QUERY_BY', 'title'),
    // Seconds: a node that does not take the connection in time is skipped for the next one.
    'connect_timeout' => (float) env('TYPESENSE_CONNECT_TIMEOUT', 1),
    'timeout' => (float) env('TYPESENSE_TIMEOUT', 3),
];
