<?php
// molecule/lb test application: which node answered, a per-session counter kept in Redis,
// and the headers the load balancer added.
session_start();
$_SESSION['count'] = ($_SESSION['count'] ?? 0) + 1;
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode([
    'node' => trim(file_get_contents(__DIR__ . '/node.txt')),
    'release' => is_file(__DIR__ . '/release.txt') ? trim(file_get_contents(__DIR__ . '/release.txt')) : 'r1',
    'count' => $_SESSION['count'],
    'session' => session_id(),
    'method' => $_SERVER['REQUEST_METHOD'],
    'forwarded_for' => $_SERVER['HTTP_X_FORWARDED_FOR'] ?? null,
    'forwarded_proto' => $_SERVER['HTTP_X_FORWARDED_PROTO'] ?? null,
    'forwarded_port' => $_SERVER['HTTP_X_FORWARDED_PORT'] ?? null,
    'host' => $_SERVER['HTTP_HOST'] ?? null,
]), "\n";
