<?php

namespace App\Http\Controllers;

use Illuminate\Http\Client\ConnectionException;
use Illuminate\Http\Client\Factory as HttpClient;
use Illuminate\Http\Request;
use Illuminate\Routing\Controller;

class SearchController extends Controller
{
    /**
     * GET /search?q=...: the hits of the site's Typesense collection, as JSON.
     *
     * The nodes (config/search.php) are asked in order, as the Typesense PHP client walks its node
     * list: a node that refuses the connection, does not take it within connect_timeout, or answers
     * 5xx (a node not ready or lagging) is skipped for the next one. 503 when none answered.
     */
    public function search(Request $request, HttpClient $http)
    {
        $config = config('search');
        $skipped = [];
        foreach ($config['nodes'] as $node) {
            $url = sprintf('%s://%s:%d/collections/%s/documents/search', $config['protocol'], $node,
                $config['port'], rawurlencode($config['collection']));
            try {
                $response = $http->withHeaders(['X-TYPESENSE-API-KEY' => $config['api_key']])
                    ->withOptions(['connect_timeout' => $config['connect_timeout']])
                    ->timeout($config['timeout'])
                    ->get($url, ['q' => (string) $request->query('q', '*'), 'query_by' => $config['query_by'], 'per_page' => 10]);
            } catch (ConnectionException $e) {
                $skipped[] = ['node' => $node, 'reason' => 'unreachable'];
                continue;
            }
            if ($response->serverError()) {
                $skipped[] = ['node' => $node, 'reason' => 'HTTP '.$response->status()];
                continue;
            }
            if (! $response->successful()) {  // 4xx: the request itself is wrong, another node would say the same
                return response()->json(['error' => 'Typesense answered HTTP '.$response->status(), 'node' => $node], 502);
            }
            $body = $response->json();

            return response()->json([
                'node' => $node,
                'found' => $body['found'] ?? 0,
                'hits' => array_map(function ($hit) {
                    return $hit['document'];
                }, $body['hits'] ?? []),
                'skipped' => $skipped,
            ]);
        }

        return response()->json(['error' => 'no Typesense node answered', 'skipped' => $skipped], 503);
    }
}
