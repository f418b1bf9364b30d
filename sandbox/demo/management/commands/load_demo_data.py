"""``manage.py load_demo_data``: fill the sandbox with a home page, plugins and an admin.

Safe to run again: it creates what is missing and leaves the rest alone (the
``admin`` user's password is reset to ``admin`` every time).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Page, Site

from demo.models import HomePage
from demo.plugins import ConsoleSmsSender, StripeGateway
from wagtail_plugin_system import BasePluginItem, PluginInstance, PluginStatus
from wagtail_plugin_system.sync import sync_plugins

# Sandbox only: a well-known login for a site that runs on your own machine.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"

#: The configured instances to create: (item class, instance name, config, extra fields).
DEMO_INSTANCES: list[tuple[type[BasePluginItem], str, dict[str, Any], dict[str, Any]]] = [
    (
        StripeGateway,
        "Stripe - main account",
        {"api_key": "sk_test_demo_main_0000", "currency": "EUR", "statement_descriptor": "SANDBOX"},
        {"status": PluginStatus.ACTIVE, "priority": 10},
    ),
    (
        StripeGateway,
        "Stripe - backup account",
        {"api_key": "sk_test_demo_backup_0000", "currency": "EUR"},
        {"status": PluginStatus.RESERVED, "priority": 20},
    ),
    (
        ConsoleSmsSender,
        "Console SMS",
        {"sender_id": "Sandbox"},
        {"status": PluginStatus.ACTIVE},
    ),
]


class Command(BaseCommand):
    help = "Create the sandbox's home page, demo plugin instances and an admin/admin superuser."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the site will be served, for the printed links.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            self.set_up_home_page()
            self.sync_plugins()
            self.create_instances()
            self.set_up_admin()
        base_url = options["base_url"].rstrip("/")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Site:  {base_url}/")
        self.stdout.write(f"  Admin: {base_url}/admin/login/")
        self.stdout.write(f"  Login: user '{ADMIN_USERNAME}', password '{ADMIN_PASSWORD}'")

    def set_up_home_page(self) -> None:
        """Make a HomePage the root of the default site, replacing Wagtail's welcome page."""
        home = HomePage.objects.first()
        root = Page.get_first_root_node()
        site = Site.objects.filter(is_default_site=True).first()
        if home is None:
            # Deleting a page deletes the sites rooted at it: move the site away first.
            if site is not None:
                site.root_page = root
                site.save()
            for page in root.get_children().filter(slug="home"):
                self.stdout.write(f"Removing the default page {page.title!r}.")
                page.delete()
            home = HomePage(
                title="wagtail-plugin-system sandbox",
                slug="home",
                intro=(
                    "This page asks the plugin system which configured instance to use. "
                    "Log in to the admin to change them."
                ),
            )
            root.add_child(instance=home)
            home.save_revision().publish()
            self.stdout.write("Created the home page.")
        if site is None:
            Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)
            self.stdout.write("Created the default site.")
        elif site.root_page_id != home.pk:
            site.root_page = home
            site.save()
            self.stdout.write("Pointed the default site at the home page.")

    def sync_plugins(self) -> None:
        report = sync_plugins()
        summary = ", ".join(f"{count} {key}" for key, count in report.counts().items())
        self.stdout.write(f"Plugin sync: {summary or 'nothing to do'}.")

    def create_instances(self) -> None:
        for item_class, name, config, fields in DEMO_INSTANCES:
            exists = PluginInstance.objects.filter(
                item__plugin_type__name=item_class.plugin_type.name,
                item__name=item_class.name,
                name=name,
            ).exists()
            if exists:
                continue
            PluginInstance.objects.create_instance(item_class, name=name, config=config, **fields)
            self.stdout.write(f"Created plugin instance {name!r}.")

    def set_up_admin(self) -> None:
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(ADMIN_PASSWORD)
        user.save()
        self.stdout.write(
            f"{'Created' if created else 'Updated'} the superuser {ADMIN_USERNAME!r}."
        )
