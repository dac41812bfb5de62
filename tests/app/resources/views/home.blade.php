<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>{{ config('app.name') }}</title></head>
<body>
<h1>{{ config('app.name') }}</h1>
<p>Version: {{ $version }}</p>
<p>Release: {{ $release }}</p>
<p>Greeting: {{ $greeting }}</p>
</body>
</html>
